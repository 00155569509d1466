"""People: the People view, its list items, the pickers that ask whose faces these are, and
a person's faces as a grid."""
