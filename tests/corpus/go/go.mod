module leashcorpus

go 1.26
