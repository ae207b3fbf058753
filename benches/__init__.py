"""turbojwt against PyJWT, per operation (pytest-benchmark)."""
