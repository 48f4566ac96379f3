"""`python -m healthmart.bench`: the benchmark (see healthmart.bench.harness)."""

import sys

from healthmart.bench.harness import main

sys.exit(main())
