from mailer.main import main

main()
