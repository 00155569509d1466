"""One photo looked at: the viewer full-window and the preview pane beside the grid."""
