# Sources of the server module (appended by its owner).
