"""What the cloud commands share: one-line errors, the repository root, recipe names."""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(ROOT, "recipes")


class ArgumentParser(argparse.ArgumentParser):
    """`argparse` whose errors are one line (`prog: error: ...`) and exit with code 2.

    Abbreviations are off: a recipe flag must never be taken for a cloud flag it prefixes.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {' '.join(str(message).split())}\n")
        sys.exit(2)


def recipe_names():
    return sorted(f[:-3] for f in os.listdir(RECIPES) if f.endswith(".py") and not f.startswith("_"))


def check_recipe(name):
    """Returns recipes/<name>.py, or raises `ValueError` naming the recipes that exist."""
    path = os.path.join(RECIPES, f"{name}.py")
    if name.startswith("-") or os.sep in name or not os.path.isfile(path):
        raise ValueError(
            f"unknown recipe (no recipes/{name}.py). Received: {name!r}; "
            f"known: {', '.join(recipe_names())}"
        )
    return path


def check_recipe_flags(flags, owned):
    """Refuses recipe flags the cloud command sets itself (`--model-dir` on Vertex, ...)."""
    for flag in flags:
        name = flag.split("=", 1)[0]
        if name in owned:
            raise ValueError(f"recipe flag {name} is set by this command ({owned[name]}); drop it")


def parse_recipe_command(parser, argv, owned):
    """Splits a command line into cloud flags and the recipe's flags (`args.recipe_flags`),
    checking the recipe exists, its flags leave `owned` to the command, and `--project` is set.

    Raises:
        ValueError: for bad input (one line, exit 2 at the command line).
    """
    args, recipe_flags = parser.parse_known_args(argv)
    args.recipe_flags = recipe_flags
    check_recipe(args.recipe)
    check_recipe_flags(recipe_flags, owned)
    if not args.project:
        raise ValueError("--project is required (a Google Cloud project id)")
    return args
