pragma circom 2.1.5;

include "../lib/withdraw.circom";

component main {public [spent, burned, recipient]} = Withdraw();
