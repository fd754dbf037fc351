"""magics.parser: the subcommands it names without building argparse are the ones argparse lists."""

from __future__ import annotations

import re

from batches_ext.magics.parser import SUBCOMMANDS, help_text


def test_the_static_subcommand_list_is_the_parsers_in_its_order() -> None:
    listed = tuple(re.findall(r"^    (\w+)\s", help_text(), flags=re.MULTILINE))
    assert listed == SUBCOMMANDS
    for name in SUBCOMMANDS:
        assert help_text(name).startswith(f"usage: %batches {name}")
