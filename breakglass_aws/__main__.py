from breakglass_aws.cli.app import main

main()
