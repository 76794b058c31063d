"""The web app: `create_app(settings)` builds a Flask app around an engine from bootstrap."""
