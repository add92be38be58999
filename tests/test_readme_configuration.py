"""README's Configuration section lists every setting of the model, with a value the model accepts."""

from __future__ import annotations

import re
import tomllib

from breakglass_aws.settings import Settings
from tests.support.terraform import REPO


def configuration_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Configuration\n") :]
    section = section[: section.index("\n## ", 5)]
    return section[section.index("```toml\n") + len("```toml\n") : section.index("\n```", section.index("```toml"))]


def test_every_setting_is_in_readme_configuration():
    example = configuration_example()
    keys = re.findall(r"^(\w+) = ", example, re.MULTILINE)
    assert len(keys) == len(set(keys)), "a setting is listed twice"
    assert set(keys) == set(Settings.model_fields), {
        "missing from README": sorted(set(Settings.model_fields) - set(keys)),
        "not a setting": sorted(set(keys) - set(Settings.model_fields)),
    }


def test_readme_configuration_example_is_valid():
    Settings(**tomllib.loads(configuration_example()))
