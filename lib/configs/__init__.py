"""One TaskConfig per model. ``main.py`` registers them explicitly (see ``lib.configs.registry``)."""
