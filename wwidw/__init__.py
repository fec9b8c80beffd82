"""The program: the assembly of the house. It alone imports every part (the core in bot/, the
scheduled engines in reminders/, the surfaces in handlers/) and puts them together as the ASGI
app (`wwidw.app`) and the `wwidw` command (`wwidw.cli`)."""
