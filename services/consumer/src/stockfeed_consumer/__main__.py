# Encoder processes are spawned and import the main module again: keep this import-light and guarded.
if __name__ == "__main__":
    from stockfeed_consumer.cli import main

    main()
