/* module-wide declarations: filled in with the module */
