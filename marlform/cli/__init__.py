"""marlform: marlform/cli."""
