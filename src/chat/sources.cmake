# Sources of the chat module (appended by its owner).
