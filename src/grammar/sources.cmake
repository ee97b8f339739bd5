# Sources of the grammar module (appended by its owner).
