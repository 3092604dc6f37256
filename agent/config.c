/* placeholder so the tree configures; replaced by the config loader (owner: cfg helper) */
