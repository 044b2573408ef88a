pragma circom 2.1.5;

include "../lib/fold.circom";

// Folds K = 2 charges per base.
component main = Fold(2);
