pragma circom 2.1.5;

include "../lib/spend.circom";

component main {public [x]} = Spend(20);
