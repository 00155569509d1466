"""What a typed query asks for: its words, dates, people and filters, each filter with its SQL."""
