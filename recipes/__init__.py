"""The recipes: each module is a script (`python recipes/<name>.py`) measuring one claim.

Installed with kerasext as the package `recipes`, so `importlib.import_module("recipes." + name)`
finds a recipe from anywhere. A recipe module has `build_parser()`, `main(argv)` returning
the metrics dict it wrote, and, when it can be swept by default, `SEARCH_SPACE`.
"""
