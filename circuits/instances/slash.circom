pragma circom 2.1.5;

include "../lib/slash.circom";

component main {public [receiverBinding]} = Slash();
