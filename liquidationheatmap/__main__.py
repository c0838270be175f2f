import sys

from liquidationheatmap.cli import main

sys.exit(main())
