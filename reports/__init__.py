"""Reports of a stored run: the model, HTML/Markdown rendering, exports and charts."""
