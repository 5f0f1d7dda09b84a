"""The menu: the registry of sections, the menu screen, the command palette."""
