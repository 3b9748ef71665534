from jointplan.cli import main

main()
