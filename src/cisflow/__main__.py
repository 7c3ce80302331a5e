import sys

from cisflow.cli import main

sys.exit(main())
