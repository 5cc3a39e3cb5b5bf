from lstmcli.entry import main

main()
