
-- end of govshare install script
