"""`python -m healthmart.generate`: write the sample exports (see healthmart.generate.exports)."""

import sys

from healthmart.generate.exports import main

sys.exit(main())
