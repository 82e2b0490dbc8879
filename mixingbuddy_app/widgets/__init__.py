"""The main window's widgets. They call the ProjectController and listen to its signals."""
