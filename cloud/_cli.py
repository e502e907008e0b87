"""What the cloud commands share: one-line errors, the repository root, recipe names."""

import argparse
import importlib
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


def check_recipe_flags(flags, owned, options=()):
    """Refuses recipe flags the cloud command sets itself (`--model-dir` on Vertex, ...),
    and their prefixes (`--model-d`), which a parser allowing abbreviations would take for
    them, unless the prefix is itself one of the recipe's `options` (`--model`)."""
    for flag in flags:
        name = flag.split("=", 1)[0]
        if not name.startswith("--") or (name in options and name not in owned):
            continue
        for full, why in owned.items():
            if full.startswith(name) and len(name) > 2:
                shown = name if name == full else f"{name} (short for {full})"
                raise ValueError(f"recipe flag {shown} is set by this command ({why}); drop it")


def load_recipe(name):
    """The recipe module `recipes.<name>`."""
    check_recipe(name)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    return importlib.import_module(f"recipes.{name}")


def recipe_parser(name):
    """recipes/<name>.py's own parser, raising `ValueError` instead of exiting."""
    parser = load_recipe(name).build_parser()

    def refuse(message):
        raise ValueError(f"recipes/{name}.py refuses its flags: {' '.join(str(message).split())}")

    parser.error = refuse
    return parser


def check_recipe_args(name, flags):
    """Parses `flags` with the recipe's own parser (and its `check_args`, if it has one),
    so a flag the recipe would refuse fails here, before anything paid is created."""
    from kerasext import runner

    module = load_recipe(name)
    if name == "sweep":  # flags it does not know go to its trials, which it checks itself
        return recipe_parser(name).parse_known_args(list(flags))[0]
    args = runner.parse_args(recipe_parser(name), list(flags))
    check_args = getattr(module, "check_args", None)
    if check_args:
        check_args(args)
    return args


def parse_recipe_command(parser, argv, owned):
    """Splits a command line into cloud flags and the recipe's flags (`args.recipe_flags`),
    checking the recipe exists, its flags leave `owned` to the command, the recipe's own
    parser accepts them, and `--project` is set.

    Raises:
        ValueError: for bad input (one line, exit 2 at the command line).
    """
    args, recipe_flags = parser.parse_known_args(argv)
    args.recipe_flags = recipe_flags
    check_recipe(args.recipe)
    if not args.project:
        raise ValueError("--project is required (a Google Cloud project id)")
    options = recipe_parser(args.recipe)._option_string_actions
    check_recipe_flags(recipe_flags, owned, options)
    check_recipe_args(args.recipe, recipe_flags)
    return args
