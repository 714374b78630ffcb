"""The user interface: descriptions shared by the CLI, magics and widgets; live views."""
