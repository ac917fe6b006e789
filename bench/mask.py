"""mask() on adversarial inputs: texts built so that a backtracking pattern scans the rest of
the text from each of many starting points (quadratic time or worse).

Prints, per input family and length (10k, 40k, 80k and 1M characters), the seconds one call of
vibes_core.config.mask takes. Each call runs in a child process with a time limit, so that a
slow implementation shows as "> LIMIT s" instead of hanging the script. No assertions: figures
to read.

Run: python bench/mask.py [LIMIT_SECONDS]
"""

import subprocess
import sys

LENGTHS = (10_000, 40_000, 80_000, 1_000_000)
# Each family is a start, a piece repeated to the length wanted and an end; the comment says
# what it stresses.
FAMILIES = {
    "letters": ("", "a", ""),  # a word that could be a URL's scheme at every position
    "schemes": ("", "a://b:", ""),  # URLs with a user and no "@" after them
    "query-key": ("?", "password", ""),  # one query key holding many secret words, no "="
    "libpq-keys": ("", "password=", "\\"),  # values to the end, a dangling backslash there
    "at-signs": ("", "x://u:@", ""),  # userinfo ends everywhere
    "words": ("", "passwordpwd token= ", ""),  # secret words, keys, values and spaces
}
CHILD = """
import sys, time
from vibes_core.config import mask
start, piece, ending, length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
text = start + (piece * (length // len(piece) + 1))[: length - len(start) - len(ending)] + ending
began = time.perf_counter()
mask(text)
print(f"{time.perf_counter() - began:.3f}")
"""


def seconds(family: tuple[str, str, str], length: int, limit: float) -> str:
    command = [sys.executable, "-c", CHILD, *family, str(length)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return f"> {limit:g} s"
    return f"{done.stdout.strip()} s"


def main() -> None:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    print(f"mask() on adversarial inputs (each call alone, limit {limit:g} s)")
    print(f"{'family':<12}" + "".join(f"{length:>14,}" for length in LENGTHS))
    for name, family in FAMILIES.items():
        row = [seconds(family, length, limit) for length in LENGTHS]
        print(f"{name:<12}" + "".join(f"{cell:>14}" for cell in row), flush=True)


if __name__ == "__main__":
    main()
