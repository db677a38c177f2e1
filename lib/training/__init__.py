"""Training the app's models outside the server (``make models``), through the same datastore and train tasks."""
