"""The application: the command line, the demo and its data generator, local servers, workspace set-up.

Production code below this layer never imports it."""
