"""`python -m benchmarks`: the benchmark (see benchmarks.harness)."""

import sys

from benchmarks.harness import main

sys.exit(main())
