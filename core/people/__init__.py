"""People: faces found and described (in a child process), and faces grouped into people."""
