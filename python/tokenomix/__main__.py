import sys

from tokenomix.cli import main

sys.exit(main())
