"""``python -m hashbench.schemas``: write the JSON Schemas again from the code (after changing
hashbench.schema or the configuration's settings)."""

from . import write_all

if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path}")
