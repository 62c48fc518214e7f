from xdp_tui.cli import main

raise SystemExit(main())
