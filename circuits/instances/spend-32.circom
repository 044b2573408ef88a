pragma circom 2.1.5;

include "../lib/spend.circom";

// Registry tree depth 32 (as Semaphore), ticket window W = 8.
component main {public [x]} = Spend(32, 8);
