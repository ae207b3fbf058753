"""An example FastAPI service authenticated with turbojwt.auth (see README.md)."""
