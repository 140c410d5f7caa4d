"""The demo: the whole story on embedded defaults, and the seeded data generator it runs on."""
