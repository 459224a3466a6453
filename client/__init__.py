"""The healthmesh Python client and command-line tool."""
