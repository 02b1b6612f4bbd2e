import sys

from deploy.local.cloud import main

sys.exit(main())
