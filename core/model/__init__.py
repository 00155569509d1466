"""The model: the offered models, their files and download, the towers and the runtime they run on."""
