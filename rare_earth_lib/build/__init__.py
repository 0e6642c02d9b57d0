"""The build: scenarios x briefings executed with papermill, rendered to HTML and PDF, published atomically."""
