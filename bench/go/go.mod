module leash/bench

go 1.26
